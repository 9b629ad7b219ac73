import { createFunctionApp } from '../../middleware/function-app.ts';
import { registerDeleteTranscript } from './routes/delete-transcript.ts';
import { registerGetTranscript } from './routes/get-transcript.ts';
import { registerImportTranscript } from './routes/import-transcript.ts';
import { registerListTranscripts } from './routes/list-transcripts.ts';

const app = createFunctionApp('support-transcripts');
registerImportTranscript(app);
registerListTranscripts(app);
registerGetTranscript(app);
registerDeleteTranscript(app);

export default app;
