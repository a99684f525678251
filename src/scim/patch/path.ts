// PATCH "path" resolution (RFC 7644 §3.5.2: `attrPath` or `valuePath [subAttr]`). The shared filter
// module parses the path and its value filter; this adds what only PATCH needs: a path naming a
// whole extension object, and one target shape for every later step.

import { ScimError } from '../errors.js';
import { parsePath as parseFilterPath, type FilterNode } from '../filter.js';
import { findExtensionUrn, isUndeclaredExtensionKey } from '../resource.js';
import { schemaOf, verbatimAttribute, type AttributeDef, type ResourceTypeRef } from '../schemas/index.js';

export interface PatchTarget {
  /** The path as sent, for error details. */
  text: string;
  /** The extension URN when the path lies inside an extension object. */
  extension?: string;
  /** Undefined when the path names a whole extension object. */
  attribute?: AttributeDef;
  /** The value selection filter (`emails[type eq "work"]`); its references name sub-attributes. */
  filter?: FilterNode;
  /** `givenName` in `name.givenName`, `value` in `emails[type eq "work"].value` or `emails.value`. */
  subAttribute?: AttributeDef;
  /** Canonical attribute path without filter or sub-attribute (`emails`, `urn:…:User:manager`). */
  name: string;
}

export function parsePath(kind: ResourceTypeRef, text: string): PatchTarget {
  // `urn:…:enterprise:2.0:User` alone names the extension object (RFC 7644 §3.5.2.1 allows a
  // complex target); the filter module resolves attribute paths only.
  const extension = findExtensionUrn(kind, text.trim());
  if (extension !== undefined) return { text, extension, name: extension };
  // An undeclared extension object as a whole, kept verbatim under the `store` policy.
  if (isUndeclaredExtensionKey(kind, text.trim()) && schemaOf(kind).unknownAttributes === 'store') {
    const urn = text.trim();
    return { text, attribute: verbatimAttribute(urn), name: urn };
  }

  const parsed = parseFilterPath(kind, text);
  const { attribute } = parsed.attr;
  const name = parsed.attr.extension === undefined ? attribute.name : `${parsed.attr.extension}:${attribute.name}`;
  // The filter module reads `name[givenName eq "x"]` as `name.givenName eq "x"`; a PATCH value
  // selection only makes sense on a multi-valued attribute.
  if (parsed.filter !== undefined && !attribute.multiValued) {
    throw invalidPath(text, `a value filter needs a multi-valued attribute and "${attribute.name}" is single-valued`);
  }
  const target: PatchTarget = { text, attribute, name };
  if (parsed.attr.extension !== undefined) target.extension = parsed.attr.extension;
  if (parsed.filter !== undefined) target.filter = parsed.filter;
  const subAttribute = parsed.subAttribute ?? parsed.attr.subAttribute;
  if (subAttribute !== undefined) target.subAttribute = subAttribute;
  return target;
}

export function invalidPath(text: string, reason: string): ScimError {
  return ScimError.of('invalidPath', `Invalid path ${JSON.stringify(text)}: ${reason}`);
}
