/** PathLens errors live in the shared layer (the host describes them too); core code imports them here. */
export * from '../shared/errors';
