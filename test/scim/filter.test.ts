// @dialect-independent: nothing here depends on the database, so `npm test` runs it once.
import fc from 'fast-check';
import t from 'tap';
import { ScimError } from '../../src/scim/errors.js';
import {
  formatFilter,
  matchesFilter,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  parsePath,
  type FilterNode,
  type ValuePathNode,
} from '../../src/scim/filter.js';
import { attr, ENTERPRISE_USER_SCHEMA as ENT, USER_SCHEMA, type ResourceKind } from '../../src/scim/schemas/index.js';
import { scimError } from './scim-error.js';

const canonical = (kind: ResourceKind, text: string) => formatFilter(parseFilter(kind, text));

t.test('valid filters parse to their canonical form', async (t) => {
  const cases: [string, string, string?][] = [
    // [filter, canonical form, resource kind (default User)]
    ['userName eq "bjensen"', 'userName eq "bjensen"'],
    // RFC 7644 §3.4.2.2: attribute names and operators are case-insensitive.
    ['USERNAME Eq "bjensen"', 'userName eq "bjensen"'],
    ['userName eq "x" AND NOT (active EQ False)', 'userName eq "x" and not (active eq false)'],
    [`${USER_SCHEMA}:userName sw "J"`, 'userName sw "J"'],
    [`${USER_SCHEMA.toUpperCase()}:NAME.FAMILYNAME ew "son"`, 'name.familyName ew "son"'],
    [`${ENT}:manager.value eq "26118915"`, `${ENT}:manager.value eq "26118915"`],
    [`${ENT.toLowerCase()}:Manager.Value eq "x"`, `${ENT}:manager.value eq "x"`],
    [`${ENT}:employeeNumber pr`, `${ENT}:employeeNumber pr`],
    [`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`],
    ['title pr', 'title pr'],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', 'meta.lastModified gt "2011-05-13T04:42:34Z"'],
    // dateTime values are normalised: upper-case designators, UTC when no offset is given.
    ['meta.lastModified ge "2011-05-13t04:42:34.5+02:00"', 'meta.lastModified ge "2011-05-13T04:42:34.5+02:00"'],
    ['meta.created lt "2011-05-13T04:42:34"', 'meta.created lt "2011-05-13T04:42:34Z"'],
    ['emails.primary eq true', 'emails.primary eq true'],
    ['emails.primary eq TRUE', 'emails.primary eq true'],
    // RFC 7644 §3.4.2.2 examples.
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      'userType eq "Employee" and (emails.value co "example.com" or emails.value co "example.org")',
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      'userType ne "Employee" and not (emails.value co "example.com" or emails.value co "example.org")',
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    ],
    ['emails[not (type eq "work")]', 'emails[not (type eq "work")]'],
    // and binds tighter than or; chains stay flat.
    ['title pr or userType eq "a" and userType eq "b"', 'title pr or (userType eq "a" and userType eq "b")'],
    ['(title pr or userType eq "a") and userType eq "b"', '(title pr or userType eq "a") and userType eq "b"'],
    ['title pr and userType eq "a" or userType eq "b"', '(title pr and userType eq "a") or userType eq "b"'],
    ['title eq "a" and title eq "b" and title eq "c"', 'title eq "a" and title eq "b" and title eq "c"'],
    ['((((title pr))))', 'title pr'],
    // A value filter on a singular complex attribute is the same as its sub-attribute paths.
    ['name[givenName eq "Ada" and familyName pr]', 'name.givenName eq "Ada" and name.familyName pr'],
    // RFC 7643 §2.5: null is "unassigned".
    ['title eq null', 'not (title pr)'],
    ['title ne null', 'title pr'],
    ['members[value eq "2819c223"]', 'members[value eq "2819c223"]', 'Group'],
    ['members.value eq "2819c223" or members.$ref pr', 'members.value eq "2819c223" or members.$ref pr', 'Group'],
    ['displayName eq "Admins"', 'displayName eq "Admins"', 'Group'],
    ['groups.display co "adm"', 'groups.display co "adm"'],
    // `+` between tokens (a query string decoded once too few) reads as a space; inside a string it is a plus.
    ['userName+eq+"a+b@x.com"+and+active+eq+true', 'userName eq "a+b@x.com" and active eq true'],
    ['userName\teq\n"x"', 'userName eq "x"'],
    // Comparison values are JSON strings (RFC 7159 escapes).
    [String.raw`userName eq "a\\b"`, String.raw`userName eq "a\\b"`],
    [String.raw`userName eq "say \"hi\""`, String.raw`userName eq "say \"hi\""`],
    [String.raw`userName eq "\u00e9\/"`, 'userName eq "é/"'],
    ['displayName eq "Zoë 👩‍💻 日本"', 'displayName eq "Zoë 👩‍💻 日本"'],
    ['userName eq "]) or (1 eq 1"', 'userName eq "]) or (1 eq 1"'],
  ];
  for (const [filter, expected, kind] of cases) {
    t.equal(canonical((kind ?? 'User') as ResourceKind, filter), expected, filter);
  }
});

t.test('parsed string values are exactly the JSON string', async (t) => {
  const value = (text: string) => (parseFilter('User', text) as { value: unknown }).value;
  t.equal(value(String.raw`userName eq "a\\b"`), 'a\\b', 'one backslash');
  t.equal(value(String.raw`userName eq "a\"b"`), 'a"b');
  t.equal(value(String.raw`userName eq "\u0041\n"`), 'A\n');
  t.equal(value('userName eq "100%_off"'), '100%_off');
});

t.test('resolved references carry the schema definitions', async (t) => {
  const node = parseFilter('User', 'EMAILS[TYPE eq "work"]') as ValuePathNode;
  t.equal(node.op, 'valuePath');
  t.equal(node.attr.attribute.name, 'emails');
  t.match(node.filter, { op: 'eq', attr: { attribute: { name: 'emails' }, subAttribute: { name: 'type' }, path: 'type' }, value: 'work' });
  t.match(parseFilter('User', `${ENT}:manager.value eq "x"`), { attr: { extension: ENT, attribute: { name: 'manager' }, subAttribute: { name: 'value' } } });
});

t.test('invalid filters are invalidFilter with a detail that says what and where', async (t) => {
  const cases: [string, RegExp, string?][] = [
    // Syntax.
    ['', /unexpected end of filter at position 0/],
    ['userName', /end of filter at position 8, expected an operator/],
    ['userName eq', /end of filter at position 11, expected a comparison value/],
    ['userName eq "x" and', /end of filter/],
    ['(userName eq "x"', /expected '\)'/],
    ['userName eq "x")', /unexpected "\)" at position 15/],
    ['userName eq "x" userName', /unexpected "userName" at position 16/],
    ['userName eq "x', /unterminated string at position 12/],
    [String.raw`userName eq "a\"`, /unterminated string/],
    ["userName eq 'x'", /unexpected character "'" at position 12/],
    ['userName eq x', /unexpected "x" at position 12, expected a comparison value/],
    ['userName like "x"', /unexpected "like" at position 9, expected an operator/],
    ['"x" eq userName', /unexpected "x" at position 0/],
    ['emails[type eq "work"', /expected '\]'/],
    ['emails[type eq "work"].value eq "x"', /'\.' after '\]'.*PATCH paths\) at position 22/],
    ['not userName eq "x"', /'not' must be followed by '\('/],
    [String.raw`userName eq "\q"`, /invalid string/],
    ['userName eq "x"; drop table users', /unexpected character ";"/],
    ['userName eq "x" -- comment', /unexpected character "-"/],
    ['userName eq 0x10', /unexpected character/],
    // Attributes.
    ['nickname2 eq "x"', /unknown attribute "nickname2"/],
    ['name.middle eq "x"', /unknown attribute "name.middle"/],
    ['emails[kind eq "work"]', /unknown sub-attribute "kind" of emails/],
    ['emails[emails.type eq "work"]', /unknown sub-attribute "emails.type"/],
    ['emails[type eq "work" and ims[type eq "x"]]', /cannot be nested/],
    ['userName[value eq "x"]', /userName has no sub-attributes/],
    ['name.givenName[value eq "x"]', /has no sub-attributes/],
    ['password eq "x"', /password cannot be used in a filter/],
    ['password pr', /password cannot be used/],
    ['userName eq "x"', /unknown attribute "userName"/, 'Group'],
    [`${ENT}:manager.value eq "x"`, /unknown attribute/, 'Group'],
    ['members pr', /unknown attribute "members"/],
    // Operators and values against the attribute type.
    ['name eq "x"', /name is complex and cannot be compared; compare a sub-attribute such as name\.formatted/],
    ['meta eq "x"', /meta is complex/],
    ['addresses co "x"', /addresses is complex/],
    ['active gt true', /gt is not defined for boolean/],
    ['active eq "true"', /active eq "true": expected true or false/],
    ['active co "t"', /co applies to string attributes, active is boolean/],
    ['meta.created co "2020"', /co applies to string attributes/],
    ['meta.created gt "yesterday"', /expected a dateTime/],
    ['meta.created gt "2023-02-29T00:00:00Z"', /expected a dateTime/],
    ['meta.created gt "2024-01-01T24:00:00Z"', /expected a dateTime/],
    ['meta.created gt 1700000000', /expected a dateTime/],
    ['userName eq 5', /expected a string/],
    ['userName eq true', /expected a string/],
    ['userName gt null', /gt cannot compare userName with null/],
    ['x509Certificates.value gt "a"', /gt is not defined for binary/],
  ];
  for (const [filter, detail, kind] of cases) {
    t.throws(() => parseFilter((kind ?? 'User') as ResourceKind, filter), scimError('invalidFilter', detail), filter);
  }
});

t.test('hostile input fails cleanly', async (t) => {
  const invalid = (filter: string, detail: RegExp, name: string) => t.throws(() => parseFilter('User', filter), scimError('invalidFilter', detail), name);

  const longest = `userName eq "${'a'.repeat(MAX_FILTER_LENGTH - 'userName eq ""'.length)}"`;
  t.equal(longest.length, MAX_FILTER_LENGTH);
  t.equal(canonical('User', longest).length, MAX_FILTER_LENGTH, 'a filter of exactly the limit parses');
  invalid(`${longest} `, /longer than 10000 characters/, 'one character over the limit');
  invalid('('.repeat(1_000_000), /longer than/, 'a megabyte of parentheses');

  const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}title pr${close.repeat(depth)}`;
  t.equal(canonical('User', nested(MAX_FILTER_DEPTH, '(', ')')), 'title pr', `${MAX_FILTER_DEPTH} levels parse`);
  invalid(nested(MAX_FILTER_DEPTH + 1, '(', ')'), /nested deeper than 50 levels at position 50/, '51 levels');
  invalid(nested(1000, '(', ')'), /nested deeper than 50/, '1000 parentheses');
  invalid(nested(1000, 'not (', ')'), /nested deeper than 50/, '1000 nots');
  invalid(nested(1000, 'emails[', ']'), /nested deeper than 50/, '1000 brackets');
  invalid('('.repeat(4000), /nested deeper than 50/, 'unbalanced');

  // Long flat chains do not recurse in the parser.
  const chain = Array.from({ length: 500 }, (_, i) => `title eq "${i}"`).join(' or ');
  t.equal((parseFilter('User', chain) as { filters: unknown[] }).filters.length, 500);
  const alternating = Array.from({ length: 250 }, (_, i) => `title eq "${i}"`).join(' and title pr or ');
  t.ok(parseFilter('User', alternating), 'alternating and/or');

  for (const filter of ['userName eq "\uFFFF\uFFFE"', 'userName eq "\\ud83d\\ude00"', 'userName eq "\\u00ff"']) {
    t.doesNotThrow(() => parseFilter('User', filter), JSON.stringify(filter));
  }
  invalid('userName eq "a\u0001b"', /invalid string/, 'raw control character in a string');
  invalid('userName eq "a\u0000b"', /invalid string/, 'raw NUL');
  invalid('userName eq "a\\u0000b"', /NUL and unpaired surrogates/, 'escaped NUL, which PostgreSQL text cannot hold');
  invalid('userName eq "\\ud800"', /NUL and unpaired surrogates/, 'escaped lone surrogate');
  invalid('userName eq "\uD800"', /NUL and unpaired surrogates/, 'raw lone surrogate');
  invalid('userName\u00a0eq "x"', /unexpected character/, 'non-breaking space');
});

t.test('arbitrary input yields a filter or invalidFilter, never another error', async (t) => {
  const onlyInvalidFilter = (text: string) => {
    try {
      parseFilter('User', text);
      return true;
    } catch (error) {
      return error instanceof ScimError && error.scimType === 'invalidFilter' && error.status === 400;
    }
  };
  t.doesNotThrow(() => fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyInvalidFilter), { numRuns: 2000 }), 'random text');
  const token = fc.constantFrom(
    'userName', 'emails', 'name.givenName', 'emails.value', 'active', 'meta.created', 'members', 'password', `${ENT}:manager.value`,
    'eq', 'ne', 'co', 'gt', 'pr', 'and', 'or', 'not', '(', ')', '[', ']', '].', '"x"', '"2020-01-01T00:00:00Z"', '"\\"', 'true', 'null', '5', '-1.5e+3', '+', ' ',
  );
  const tokens = fc.array(token, { maxLength: 30 }).map((parts) => parts.join(' '));
  t.doesNotThrow(() => fc.assert(fc.property(tokens, onlyInvalidFilter), { numRuns: 5000 }), 'random token sequences');
});

t.test('canonical form parses back to itself', async (t) => {
  const filters = [
    'emails[type eq "work" and not (value co "\\\\%")] or (title pr and active eq false)',
    'name.givenName eq "a\\"b" and meta.created gt "2020-01-01T00:00:00.123+01:00"',
  ];
  for (const filter of filters) {
    const once = canonical('User', filter);
    t.equal(canonical('User', once), once, filter);
  }
});

t.test('parsePath: PATCH paths with value filters', async (t) => {
  const work = parsePath('User', 'emails[type eq "work"].value');
  t.equal(work.attr.path, 'emails');
  t.equal(work.subAttribute?.name, 'value');
  t.equal(formatFilter(work.filter!), 'type eq "work"');

  t.match(parsePath('Group', 'members[value eq "2819c223"]'), { attr: { path: 'members' }, filter: { op: 'eq', value: '2819c223' } });
  t.match(parsePath('User', 'NAME.givenName'), { attr: { path: 'name.givenName', subAttribute: { name: 'givenName' } } });
  t.match(parsePath('User', `${ENT}:manager.value`), { attr: { extension: ENT, path: `${ENT}:manager.value` } });
  t.match(parsePath('User', ' emails[value eq "a]b"] '), { filter: { value: 'a]b' } });

  t.throws(() => parsePath('User', 'emails[type eq "work"].nope'), scimError('invalidPath', /sub-attribute "nope"/));
  t.throws(() => parsePath('User', 'nope'), scimError('invalidPath', /Unknown attribute "nope"/));
  t.throws(() => parsePath('User', 'emails[type eq "work"'), scimError('invalidPath'));
  t.throws(() => parsePath('User', 'emails[type eq ].value'), scimError('invalidFilter', /comparison value/));
  t.throws(() => parsePath('User', 'emails[kind eq "work"]'), scimError('invalidFilter', /kind/));
});

t.test('matchesFilter evaluates a value filter against one element', async (t) => {
  const user = (filter: string) => (parseFilter('User', `emails[${filter}]`) as ValuePathNode).filter;
  const cases: [FilterNode, unknown, boolean, string][] = [
    [user('type eq "work"'), { type: 'Work' }, true, 'type is not caseExact'],
    [user('type eq "work"'), { TYPE: 'work' }, true, 'keys are case-insensitive'],
    [user('type eq "work"'), { type: 'home' }, false, 'other value'],
    [user('type eq "work"'), {}, false, 'missing'],
    [user('type eq "work"'), 'work', false, 'not an object'],
    [user('type ne "work"'), {}, true, 'ne on a missing value'],
    [user('type ne "work"'), { type: 'WORK' }, false, 'ne is case-insensitive too'],
    [user('value eq "A@X.com"'), { value: 'a@x.COM' }, true, 'emails.value is not caseExact'],
    [user('value co "%"'), { value: 'a%b' }, true, 'co with a LIKE wildcard is literal'],
    [user('value co "%"'), { value: 'ab' }, false, 'co % does not match anything'],
    [user('value sw "AB"'), { value: 'abc' }, true, 'sw'],
    [user('value ew "BC"'), { value: 'abc' }, true, 'ew'],
    [user('value gt "b"'), { value: 'C' }, true, 'gt folds case'],
    [user('value lt "b"'), { value: 'é' }, false, 'code point order: é after b'],
    [user('value le "abc"'), { value: 'abc' }, true, 'le'],
    [user('primary eq true'), { primary: true }, true, 'boolean'],
    [user('primary eq true'), { primary: 'True' }, true, 'boolean stored as a string'],
    [user('primary eq true'), { primary: false }, false, 'false'],
    [user('primary eq false'), {}, false, 'missing boolean matches neither'],
    [user('type pr'), { type: '' }, false, 'empty string is not present'],
    [user('type pr'), { type: null }, false, 'null is not present'],
    [user('type pr'), { type: 'x' }, true, 'present'],
    [user('type eq "work" and primary eq true'), { type: 'work', primary: true }, true, 'and'],
    [user('type eq "work" and primary eq true'), { type: 'work' }, false, 'and, one missing'],
    [user('type eq "work" or type eq "home"'), { type: 'home' }, true, 'or'],
    [user('not (type eq "work")'), { type: 'home' }, true, 'not'],
    [user('value eq "5"'), { value: 5 }, true, 'a number reads as its text, like ->> in SQL'],
  ];
  const group = (parseFilter('Group', 'members[value eq "ABC"]') as ValuePathNode).filter;
  cases.push([group, { value: 'abc' }, false, 'members.value is caseExact'], [group, { value: 'ABC' }, true, 'caseExact match']);
  for (const [filter, element, expected, name] of cases) t.equal(matchesFilter(filter, element), expected, name);
});

t.test('matchesFilter on numbers and dateTimes (no such attribute in our schemas yet)', async (t) => {
  const ref = (type: 'integer' | 'dateTime') => {
    const sub = attr('x', type);
    return { attribute: attr('things', 'complex', { multiValued: true, subAttributes: [sub] }), subAttribute: sub, path: 'x' };
  };
  const n = (op: 'eq' | 'gt', value: number): FilterNode => ({ op, attr: ref('integer'), value });
  const d = (op: 'lt' | 'ge', value: string): FilterNode => ({ op, attr: ref('dateTime'), value });
  t.ok(matchesFilter(n('gt', 10), { x: 42 }));
  t.ok(matchesFilter(n('eq', 7), { x: '7' }), 'numeric string');
  t.notOk(matchesFilter(n('gt', 1), { x: 'abc' }));
  t.ok(matchesFilter(d('lt', '2020-01-01T00:00:00Z'), { x: '2019-12-31T23:00:00-00:30' }));
  t.notOk(matchesFilter(d('lt', '2020-01-01T00:00:00Z'), { x: '2019-12-31T23:00:00-01:30' }), 'offsets count');
  t.ok(matchesFilter(d('ge', '2020-01-01T00:00:00Z'), { x: '2020-01-01T00:00:00' }), 'no offset is UTC');
  t.notOk(matchesFilter(d('ge', '2020-01-01T00:00:00Z'), { x: 'soon' }));
});
