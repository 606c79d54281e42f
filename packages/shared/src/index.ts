export * from './config/types.js';
export * from './config/load.js';
export * from './errors.js';
export * from './instance.js';
export * from './log.js';
export * from './ipc/messages.js';
