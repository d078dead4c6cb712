import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BUNDLE_VERSION_ANNOTATION } from '../kinds.js';
import type { Authorize } from './auth.js';
import { json, notFoundText } from './responses.js';
import { compareKubeVersions, resourceList, type ServedResource } from './resources.js';
import { crdDirectory } from './schema.js';
import { StoreError } from './store.js';

/** The kinds served right now (CRDs switched off by `faults.notServed` are absent). */
export type Served = () => ServedResource[];

/**
 * Answers a discovery GET (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/G`, `/apis/G/V`) from the
 * served kinds, as kube-apiserver's aggregated discovery does; false when `parts` is not a discovery path.
 */
export function serveDiscovery(res: http.ServerResponse, parts: string[], served: Served): boolean {
  const path = `/${parts.join('/')}`;
  if (path === '/version') {
    json(res, 200, {
      major: '1',
      minor: '34',
      gitVersion: 'v1.34.2-egressctl-sandbox',
      platform: 'linux/amd64',
    });
    return true;
  }
  if (path === '/api') {
    json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    return true;
  }
  if (path === '/api/v1') {
    json(res, 200, resourceList('', 'v1', served()));
    return true;
  }
  if (path === '/apis') {
    // The aggregator orders groups by priority, then name: built-in groups first, then the CRDs' groups
    // (all of GroupPriorityMinimum 1000) alphabetically, which is how kubectl picks `httproutes`'s group.
    const all = served();
    const isCrd = (g: string) => all.some((r) => r.group === g && r.crd);
    const groups = [...new Set(all.map((r) => r.group))]
      .filter(Boolean)
      .sort((a, b) => Number(isCrd(a)) - Number(isCrd(b)) || (isCrd(a) ? a.localeCompare(b) : 0))
      .map((g) => apiGroup(all, g));
    json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const g = apiGroup(served(), parts[1] as string);
    if (g) json(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
    else notFoundText(res);
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    if (served().some((r) => r.group === parts[1] && r.version === parts[2]))
      json(res, 200, resourceList(parts[1] as string, parts[2] as string, served()));
    else notFoundText(res);
    return true;
  }
  return false;
}

/** An APIGroup's versions by Kubernetes' version priority; the first is preferred. */
function apiGroup(served: ServedResource[], g: string) {
  const names = [...new Set(served.filter((r) => r.group === g).map((r) => r.version))];
  const versions = names.sort(compareKubeVersions).map((v) => ({
    groupVersion: `${g}/${v}`,
    version: v,
  }));
  return versions.length ? { name: g, versions, preferredVersion: versions[0] } : undefined;
}

/** The CRD kind itself, as RBAC and 403 messages name it. */
export const CRD_RESOURCE: ServedResource = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
};

let crdFiles: Map<string, Record<string, unknown>> | undefined;

/** The CRD documents of `crds/`, by `metadata.name` (`tlsroutes.gateway.networking.k8s.io`), read once. */
function bundledCrds(): Map<string, Record<string, unknown>> {
  if (crdFiles) return crdFiles;
  crdFiles = new Map();
  const dir = crdDirectory();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (crd?.kind === 'CustomResourceDefinition' && crd.metadata?.name)
        crdFiles.set(crd.metadata.name, crd);
    }
  }
  return crdFiles;
}

/** One version of a bundled CRD, as `spec.versions[]` has it. */
export interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  additionalPrinterColumns?: {
    name: string;
    type: string;
    jsonPath: string;
    format?: string;
    priority?: number;
  }[];
}

/** The bundled CRD's entry for a served kind at the version `r` names; undefined for built-ins. */
export function crdVersionOf(r: ServedResource): CrdVersion | undefined {
  if (!r.crd) return undefined;
  const crd = bundledCrds().get(`${r.plural}.${r.group}`) as
    { spec?: { versions?: CrdVersion[] } } | undefined;
  return crd?.spec?.versions?.find((v) => v.name === r.version);
}

/**
 * Answers GET `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/NAME` with the CRD from `crds/` as
 * the file has it, while its kind is served (a CRD switched off by `faults.notServed` is not installed:
 * 404). `bundleVersion` replaces the `gateway.networking.k8s.io/bundle-version` annotation of the Gateway
 * API CRDs, to play another bundle. False when `parts` is not such a path.
 */
export function serveCrd(
  res: http.ServerResponse,
  parts: string[],
  o: { served: Served; authorize: Authorize; bundleVersion?: string | undefined },
): boolean {
  const [apis, group, version, plural, name, ...rest] = parts;
  if (apis !== 'apis' || group !== CRD_RESOURCE.group || version !== 'v1' || plural !== CRD_RESOURCE.plural)
    return false;
  if (name === undefined || rest.length) {
    notFoundText(res);
    return true;
  }
  const no = o.authorize(CRD_RESOURCE, 'get', CRD_RESOURCE.plural, undefined, name);
  if (no) throw no;
  const crd = bundledCrds().get(name);
  const installed = o.served().some((r) => r.crd && `${r.plural}.${r.group}` === name);
  if (!crd || !installed)
    throw new StoreError(
      404,
      'NotFound',
      `customresourcedefinitions.apiextensions.k8s.io "${name}" not found`,
      { name, group: CRD_RESOURCE.group, kind: CRD_RESOURCE.plural },
    );
  const meta = crd.metadata as { annotations?: Record<string, string> };
  const annotations = { ...meta.annotations };
  if (o.bundleVersion && BUNDLE_VERSION_ANNOTATION in annotations)
    annotations[BUNDLE_VERSION_ANNOTATION] = o.bundleVersion;
  json(res, 200, { ...crd, metadata: { ...meta, annotations } });
  return true;
}
