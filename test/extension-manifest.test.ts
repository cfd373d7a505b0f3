import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const sources = fs
  .readdirSync(path.join(root, 'src/extension'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => fs.readFileSync(path.join(root, 'src/extension', f), 'utf8'))
  .join('\n');

describe('extension manifest', () => {
  it('declares every registered command and registers every declared command', () => {
    const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
    const registered = [...sources.matchAll(/registerCommand\(\s*'([\w.]+)'/g)].map((m) => m[1]).sort();
    expect(registered).toEqual(declared);
  });

  it('offers the explain commands on model.json and images, only in trusted workspaces', () => {
    const explorer = pkg.contributes.menus['explorer/context'] as { command: string; when: string }[];
    const model = explorer.find((m) => m.command === 'pathlens.explainModel')!;
    expect(model.when).toContain('resourceFilename == model.json');
    expect(model.when).toContain('isWorkspaceTrusted');
    const image = explorer.find((m) => m.command === 'pathlens.explainImage')!;
    expect(image.when).toMatch(/png/);
    expect(pkg.contributes.menus['editor/title'][0].when).toContain('resourceFilename == model.json');
    const titles = Object.fromEntries((pkg.contributes.commands as { command: string; title: string }[]).map((c) => [c.command, c.title]));
    expect(titles['pathlens.explainModel']).toBe('PathLens: Explain Prediction…');
    expect(titles['pathlens.explainImage']).toBe('PathLens: Explain This Image With…');
  });

  it('offers Fit Patterns and Run Sanity Checks on model.json and in the palette, only in trusted workspaces', () => {
    const titles = Object.fromEntries(
      (pkg.contributes.commands as { command: string; title: string; enablement?: string }[]).map((c) => [c.command, c]),
    );
    expect(titles['pathlens.fitPatterns']).toMatchObject({ title: 'PathLens: Fit Patterns…', enablement: 'isWorkspaceTrusted' });
    expect(titles['pathlens.sanityChecks']).toMatchObject({ title: 'PathLens: Run Sanity Checks…', enablement: 'isWorkspaceTrusted' });
    const explorer = pkg.contributes.menus['explorer/context'] as { command: string; when: string }[];
    const palette = pkg.contributes.menus.commandPalette as { command: string; when: string }[];
    for (const command of ['pathlens.fitPatterns', 'pathlens.sanityChecks']) {
      const entry = explorer.find((m) => m.command === command)!;
      expect(entry.when).toContain('resourceFilename == model.json');
      expect(entry.when).toContain('isWorkspaceTrusted');
      expect(palette.find((m) => m.command === command)?.when).toBe('isWorkspaceTrusted');
    }
  });

  it('declares the model view as an optional read-only editor and the panel serializer activation', () => {
    expect(pkg.contributes.customEditors).toEqual([
      {
        viewType: 'pathlens.modelView',
        displayName: 'PathLens Model View',
        selector: [
          { filenamePattern: 'model.json' },
          { filenamePattern: '*.keras' },
          { filenamePattern: '*.h5' },
          { filenamePattern: '*.hdf5' },
          { filenamePattern: '*.onnx' },
        ],
        priority: 'option',
      },
    ]);
    expect(pkg.activationEvents).toContain('onWebviewPanel:pathlens.panel');
    expect(sources).toContain('registerWebviewPanelSerializer(PANEL_VIEW_TYPE');
    expect(sources).toContain("PANEL_VIEW_TYPE = 'pathlens.panel'");
  });

  it('declares workspace trust and virtual workspace support honestly', () => {
    expect(pkg.capabilities.virtualWorkspaces.supported).toBe(false);
    expect(pkg.capabilities.untrustedWorkspaces.supported).toBe('limited');
    expect(pkg.contributes.configuration.properties['pathlens.tfjsNodePath'].scope).toBe('machine');
  });

  it('has a setting for every key the host reads', () => {
    const props = Object.keys(pkg.contributes.configuration.properties).map((k) => k.replace(/^pathlens\./, ''));
    const settings = fs.readFileSync(path.join(root, 'src/extension/settings.ts'), 'utf8');
    const read = [...settings.matchAll(/get\('([\w.]+)'\)/g)].map((m) => m[1]);
    expect([...new Set(read)].sort()).toEqual(props.sort());
  });

  it('never keeps webviews alive when hidden', () => {
    expect(sources).not.toMatch(/retainContextWhenHidden\s*:\s*true/);
  });

  it('packages only dist, media, README and LICENSE', () => {
    const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    expect(ignore.split('\n')[1]).toBe('**');
    expect(ignore).toContain('!dist/extension.js');
    // The host reads the method catalog instead of bundling the methods (and TF.js).
    expect(ignore).toContain('!dist/methods.json');
    expect(ignore).toContain('!dist/webview/*.js');
    expect(ignore).not.toMatch(/^!src/m);
    expect(fs.existsSync(path.join(root, 'LICENSE'))).toBe(true);
    expect(fs.existsSync(path.join(root, pkg.icon))).toBe(true);
  });
});
