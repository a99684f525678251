import { attr, type AttributeDef, type SchemaDef } from './types.js';
import { USER_SCHEMA } from './urns.js';

const typeAndPrimary = (types: string[]): AttributeDef[] => [
  attr('type', 'string', { canonicalValues: types }),
  attr('primary', 'boolean'),
];

const multiValuedStrings = (name: string, description: string, types: string[]): AttributeDef =>
  attr(name, 'complex', {
    multiValued: true,
    description,
    subAttributes: [attr('value', 'string'), attr('display', 'string'), ...typeAndPrimary(types)],
  });

// RFC 7643 §4.1 and §8.7.1.
export const userSchema: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', { required: true, uniqueness: 'server', maxLength: 256, description: 'Unique identifier for the User, used to authenticate; case-insensitive.' }),
    attr('name', 'complex', {
      description: "The components of the user's real name.",
      subAttributes: [
        attr('formatted', 'string'),
        attr('familyName', 'string'),
        attr('givenName', 'string'),
        attr('middleName', 'string'),
        attr('honorificPrefix', 'string'),
        attr('honorificSuffix', 'string'),
      ],
    }),
    attr('displayName', 'string', { description: 'The name of the User, suitable for display.' }),
    attr('nickName', 'string'),
    attr('profileUrl', 'reference', { referenceTypes: ['external'] }),
    attr('title', 'string'),
    attr('userType', 'string'),
    attr('preferredLanguage', 'string'),
    attr('locale', 'string'),
    attr('timezone', 'string'),
    attr('active', 'boolean', { description: "The User's administrative status." }),
    attr('password', 'string', { mutability: 'writeOnly', returned: 'never', description: 'Accepted and discarded: the bridge never stores or returns passwords.' }),
    multiValuedStrings('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
    multiValuedStrings('phoneNumbers', 'Phone numbers for the User.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multiValuedStrings('ims', 'Instant messaging addresses for the User.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    attr('photos', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'reference', { referenceTypes: ['external'] }), attr('display', 'string'), ...typeAndPrimary(['photo', 'thumbnail'])],
    }),
    attr('addresses', 'complex', {
      multiValued: true,
      subAttributes: [
        attr('formatted', 'string'),
        attr('streetAddress', 'string'),
        attr('locality', 'string'),
        attr('region', 'string'),
        attr('postalCode', 'string'),
        attr('country', 'string'),
        ...typeAndPrimary(['work', 'home', 'other']),
      ],
    }),
    attr('groups', 'complex', {
      multiValued: true,
      mutability: 'readOnly',
      description: 'Groups the user belongs to, derived from Group memberships.',
      subAttributes: [
        attr('value', 'string', { mutability: 'readOnly' }),
        attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', { mutability: 'readOnly' }),
        attr('type', 'string', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multiValuedStrings('entitlements', 'Entitlements of the User.', []),
    multiValuedStrings('roles', 'Roles of the User.', []),
    attr('x509Certificates', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'binary'), attr('display', 'string'), ...typeAndPrimary([])],
    }),
  ],
};
