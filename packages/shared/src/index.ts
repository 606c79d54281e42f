export * from './config/types.js';
export * from './errors.js';
export * from './log.js';
export * from './ipc/messages.js';
