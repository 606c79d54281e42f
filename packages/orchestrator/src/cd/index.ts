export { startContinuousDeployment, type ContinuousDeployment, type ContinuousDeploymentDeps } from './continuous-deployment.js';
