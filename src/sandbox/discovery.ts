import type http from 'node:http';
import { json, notFoundText } from './responses.js';
import { resourceList, type ServedResource } from './resources.js';

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
    const groups = [...new Set(served().map((r) => r.group))]
      .filter(Boolean)
      .map((g) => apiGroup(served(), g));
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

/** An APIGroup's versions in the order the kinds are listed; the first is preferred. */
function apiGroup(served: ServedResource[], g: string) {
  const versions = [...new Set(served.filter((r) => r.group === g).map((r) => r.version))].map((v) => ({
    groupVersion: `${g}/${v}`,
    version: v,
  }));
  return versions.length ? { name: g, versions, preferredVersion: versions[0] } : undefined;
}
