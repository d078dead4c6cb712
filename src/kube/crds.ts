import { BUNDLE_VERSION_ANNOTATION, KINDS, parseBundleVersion } from '../kinds.js';
import { ApiError, type KubeClient } from './rest.js';

/** The Gateway API bundle version installed for each kind asked, and one note per kind it could not read. */
export interface BundleVersions {
  /** Kind (`TLSRoute`) → bundle version (`v1.5.1`), from its CRD's annotation. */
  versions: Map<string, string>;
  /** One line each (no newline), for stderr: which CRD could not be read, and why. */
  notes: string[];
}

/**
 * Reads the `gateway.networking.k8s.io/bundle-version` annotation of the installed CRD of each kind
 * (GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/PLURAL.GROUP), as the Gateway API
 * implementers' guide suggests implementations do. A 403 (no RBAC on CRDs), a 404 or an annotation that
 * is missing or not a release version is a note, not a failure: the caller goes on without the version.
 */
export async function fetchBundleVersions(
  client: KubeClient,
  kinds: readonly string[],
): Promise<BundleVersions> {
  const out: BundleVersions = { versions: new Map(), notes: [] };
  const entries = KINDS.filter(
    (k) => k.crd && k.group === 'gateway.networking.k8s.io' && kinds.includes(k.kind),
  );
  await Promise.all(
    entries.map(async (k) => {
      const name = `${k.plural}.${k.group}`;
      const unread = (why: string) =>
        out.notes.push(
          `note: could not read the Gateway API bundle version of ${k.kind} (${why}): the checks that depend on it were not applied`,
        );
      try {
        const crd = await client.get<{ metadata?: { annotations?: Record<string, string> } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
          { what: `get customresourcedefinition ${name}` },
        );
        const v = crd.metadata?.annotations?.[BUNDLE_VERSION_ANNOTATION];
        if (v && parseBundleVersion(v)) out.versions.set(k.kind, v);
        else unread(`customresourcedefinition ${name} has no ${BUNDLE_VERSION_ANNOTATION} annotation`);
      } catch (e) {
        if (!(e instanceof ApiError) || (e.code !== 403 && e.code !== 404)) throw e;
        unread(
          e.code === 403
            ? `get customresourcedefinition ${name}: 403 Forbidden`
            : `customresourcedefinition ${name} not found`,
        );
      }
    }),
  );
  out.notes.sort();
  return out;
}
