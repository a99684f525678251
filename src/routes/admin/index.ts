import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/index.js';
import { installAdminAuth } from '../../plugins/admin-auth.js';
import assignmentsRoutes from './assignments.routes.js';
import auditRoutes from './audit.routes.js';
import directoryRoutes from './directory.routes.js';
import { installDryRun, Simulation } from './dry-run.js';
import effectiveAccessRoutes from './effective-access.routes.js';
import { installAdminErrorHandling } from './errors.js';
import mappingsRoutes from './mappings.routes.js';
import meRoutes from './me.routes.js';
import permissionsRoutes from './permissions.routes.js';
import policiesRoutes from './policies.routes.js';
import provisioningRoutes from './provisioning.routes.js';
import reviewCampaignsRoutes from './review-campaigns.routes.js';
import reviewsRoutes from './reviews.routes.js';
import rolesRoutes from './roles.routes.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { adminValidatorCompiler } from './validator.js';
import scimSchemasRoutes from './scim-schemas.routes.js';
import oauthClientsRoutes from './oauth-clients.routes.js';
import settingsRoutes from './settings.routes.js';
import simulateRoutes from './simulate.routes.js';
import tokensRoutes from './tokens.routes.js';
import webhooksRoutes from './webhooks.routes.js';

/**
 * The admin API scope: JSON errors and admin-JWT authentication of its own, none of which leak
 * into the SCIM scope beside it. Every route declares the admin roles that may call it
 * (config.adminAccess, enforced in plugins/admin-auth.ts).
 */
const adminRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  for (const schema of [...SHARED_SCHEMAS, Simulation]) app.addSchema(schema);
  app.setValidatorCompiler(adminValidatorCompiler);
  installAdminErrorHandling(app);
  installAdminAuth(app, config);
  installDryRun(app);

  await app.register(directoryRoutes);
  await app.register(permissionsRoutes);
  await app.register(rolesRoutes);
  await app.register(mappingsRoutes);
  await app.register(assignmentsRoutes);
  await app.register(settingsRoutes);
  await app.register(effectiveAccessRoutes);
  await app.register(policiesRoutes);
  await app.register(scimSchemasRoutes);
  await app.register(tokensRoutes);
  await app.register(meRoutes);
  await app.register(oauthClientsRoutes);
  await app.register(auditRoutes, { config });
  await app.register(webhooksRoutes, { config });
  await app.register(reviewsRoutes);
  await app.register(reviewCampaignsRoutes);
  await app.register(simulateRoutes, { config });
  await app.register(provisioningRoutes);
};

export default adminRoutes;
