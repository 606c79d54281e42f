// Kept only for units.test.ts, which is being split elsewhere; every other test imports the builders from their home.
export { config, service } from '@dispenser/shared/testing/config';
