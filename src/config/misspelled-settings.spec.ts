import { consumerEnvironmentSchema } from '../consumer/config/consumer-environment';
import { environmentSchema } from './environment';
import { misspelledSettings } from './misspelled-settings';

const API_SETTINGS = Object.keys(environmentSchema.shape);
const CONSUMER_SETTINGS = Object.keys(consumerEnvironmentSchema.shape);

describe('misspelledSettings', () => {
  it('names the setting a variable within two edits of it was likely meant to be', () => {
    expect(misspelledSettings({ DATABSE_URL: 'postgres://x/y' }, API_SETTINGS)).toEqual([
      'DATABSE_URL is set, but it is no setting of this app: did you mean DATABASE_URL? (DATABASE_URL is left at its default)',
    ]);
    expect(misspelledSettings({ CONSUMER_DATABASE_UR: 'postgres://x/y' }, CONSUMER_SETTINGS)).toEqual([
      expect.stringContaining('did you mean CONSUMER_DATABASE_URL?'),
    ]);
  });

  it('says nothing of the settings themselves, of short names, or of variables far from every setting', () => {
    expect(misspelledSettings({ DATABASE_URL: 'postgres://x/y', PATH: '/bin', HOME: '/root', HOSTNAME: 'vm', NODE_OPTIONS: '', npm_lifecycle_event: 'start' }, API_SETTINGS)).toEqual([]);
  });

  // `npm start` exports both apps' settings to both: neither app may take the other's for a typo.
  it("takes neither app's settings for a misspelling of the other's", () => {
    const everything = Object.fromEntries([...API_SETTINGS, ...CONSUMER_SETTINGS].map((name) => [name, 'x']));
    expect(misspelledSettings(everything, API_SETTINGS)).toEqual([]);
    expect(misspelledSettings(everything, CONSUMER_SETTINGS)).toEqual([]);
  });
});
