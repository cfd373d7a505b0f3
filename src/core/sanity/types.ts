/** Sanity-check data shapes live in the shared layer (the panel renders them); core code imports them here. */
export * from '../../shared/sanity';
