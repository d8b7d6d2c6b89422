// The edge under test: Debian's varnishd with the shipped VCL (the tests' helper), pinned with the
// origin to the server CPU, its thread pools sized for the readers (one thread per response).
import { startVarnish, threadParams, VARNISHD, type TestEdge } from '../../test/helpers/varnish.js';
import { has, SERVER_CPU, spawnPinned } from './system.js';

export function hasVarnish(): boolean {
  return has(VARNISHD);
}

export function startEdge(origin: string, clients: number): Promise<TestEdge> {
  return startVarnish(origin, { params: threadParams(clients), spawn: (command, args) => spawnPinned(SERVER_CPU, command, args) });
}
