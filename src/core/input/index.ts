export * from './image';
export * from './blur';
export * from './preprocess';
export * from './load';
export * from './baseline';
