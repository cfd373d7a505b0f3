export * from '../../shared/colormap';
export * from './overlay';
export * from './plot';
export * from './json';
export * from './html';
export * from './write';
export * from './recover';
