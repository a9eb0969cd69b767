import { InvalidArgumentError } from '../errors.js';
import { isGroupGraph, type GroupGraph } from './define-group.js';

/** Imports a group module; its default export must be the GroupGraph. */
export async function loadGroupModule(url: string): Promise<GroupGraph> {
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new InvalidArgumentError(`cannot import group module ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!isGroupGraph(mod.default)) {
    throw new InvalidArgumentError(`group module ${url} must have a default export made by defineGroup(...)`);
  }
  return mod.default.validate();
}
