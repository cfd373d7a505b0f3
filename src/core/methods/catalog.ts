/**
 * The methods as data (`MethodInfo`, no code): written by the build to `dist/methods.json`, which the
 * extension host reads instead of loading the method implementations (and TF.js).
 */
import { flagOf, type MethodInfo } from '../../shared/methods';
import { METHODS } from './index';

export function describeMethods(): MethodInfo[] {
  return [...METHODS.values()].map((m) => ({
    name: m.name,
    title: m.title,
    description: m.description,
    complete: m.complete,
    parameters: m.parameters.map((p) => ({ ...p, flag: flagOf(p), choices: p.choices ? [...p.choices] : undefined })),
    needs: { ...m.needs },
  }));
}
