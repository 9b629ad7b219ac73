import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import supportTranscripts from '../index.ts';

const conversation = { channel: 'chat', messages: [{ role: 'visitor', content: 'Is my data in the EU?' }, { role: 'agent', content: 'Yes.' }] };

describeTenantRouteSecurity({
  fn: supportTranscripts,
  fixtures: {
    'POST /v1/support-transcripts': { body: conversation },
    'GET /v1/support-transcripts': {},
    'GET /v1/support-transcripts/{id}': {},
    'DELETE /v1/support-transcripts/{id}': { apiKey: false },
  },
  async createResource(tenant) {
    return (await tenant.owner.request('POST', '/v1/support-transcripts', conversation)).body.id;
  },
});
