import { attr, type SchemaDef } from './types.js';
import { GROUP_SCHEMA } from './urns.js';

// RFC 7643 §4.2 and §8.7.1. Members are Users of the same workspace; nested groups are not supported.
export const groupSchema: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'string', { required: true, uniqueness: 'server', maxLength: 256, description: 'A human-readable name for the Group; unique per workspace, case-insensitive.' }),
    attr('members', 'complex', {
      multiValued: true,
      description: 'Members of the Group.',
      subAttributes: [
        attr('value', 'string', { mutability: 'immutable', caseExact: true }),
        attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User'] }),
        attr('display', 'string', { mutability: 'readOnly' }),
        attr('type', 'string', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
    }),
  ],
};
