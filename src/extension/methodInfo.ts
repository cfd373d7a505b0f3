/** Method descriptions for pickers and the panel, from the core's METHODS registry. */
import { METHODS } from '../core/methods/index';
import type { MethodInfo } from '../shared/protocol';

export function allMethodNames(): string[] {
  return [...METHODS.keys()];
}

export function methodInfos(names: readonly string[] = allMethodNames()): MethodInfo[] {
  return names.flatMap((name) => {
    const m = METHODS.get(name);
    return m
      ? [
          {
            name: m.name,
            title: m.title,
            description: m.description,
            complete: m.complete,
            parameters: m.parameters.map((p) => ({ ...p, choices: p.choices ? [...p.choices] : undefined })),
          },
        ]
      : [];
  });
}
