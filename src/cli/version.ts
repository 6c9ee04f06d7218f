import { loadConfig } from '../config.ts';
import { vectorizerVersion } from '../vectorize/index.ts';
import { SAGE_VERSION } from '../version.ts';
import type { Command } from './command.ts';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the versions of Sage, Node and the vectorizer',
  usage: 'sage version',
  options: {},
  async run() {
    const { vectorDimension } = loadConfig(['vectorDimension']);
    process.stdout.write(`sage ${SAGE_VERSION} (node ${process.version}, vectorizer ${vectorizerVersion({ dimension: vectorDimension })})\n`);
    return 0;
  },
};
