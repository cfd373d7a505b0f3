/** The data shapes core computes live in the shared layer (host and panel use them too); core code imports them here. */
export * from '../shared/types';
