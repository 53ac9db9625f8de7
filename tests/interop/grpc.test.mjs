// The official @grpc/grpc-js client (with @grpc/proto-loader reading protos/) against the Service:
// interop proof for callers that are not .NET. Run by scripts/interop.sh (sets MONKEY_SERVICE_ADDRESS).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const address = process.env.MONKEY_SERVICE_ADDRESS;
if (!address) {
  throw new Error('MONKEY_SERVICE_ADDRESS is not set: run through scripts/interop.sh');
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const definition = protoLoader.loadSync(
  ['monkeycoder/v1/router_service.proto', 'monkeycoder/v1/model_service.proto'],
  { includeDirs: [path.join(root, 'protos')], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
const v1 = grpc.loadPackageDefinition(definition).monkeycoder.v1;
const router = new v1.RouterService(address, grpc.credentials.createInsecure());
const models = new v1.ModelService(address, grpc.credentials.createInsecure());
after(() => { router.close(); models.close(); });

const deadline = () => new Date(Date.now() + 20_000);
// Every call carries the API key scripts/interop.sh gave the Service.
const meta = new grpc.Metadata();
meta.set('authorization', `Bearer ${process.env.MONKEY_API_KEY}`);

test('Execute returns a completed answer with usage', async () => {
  const response = await new Promise((resolve, reject) =>
    router.Execute({ taskType: 'TASK_TYPE_CODE_GENERATION', prompt: 'fizzbuzz in python', maxTokens: 64 }, meta, { deadline: deadline() },
      (error, value) => (error ? reject(error) : resolve(value))));
  assert.equal(response.status, 'EXECUTION_STATUS_COMPLETED');
  assert.equal(response.provider, 'simulated');
  assert.ok(response.content.length > 0);
  assert.ok(['FINISH_REASON_STOP', 'FINISH_REASON_LENGTH'].includes(response.finishReason));
  assert.ok(response.usage.outputTokens > 0 && response.usage.outputTokens <= 64);
  assert.ok(response.executionId.startsWith('exec_'));
});

test('StreamExecute streams started, deltas, then one final with usage', async () => {
  const call = router.StreamExecute({ taskType: 'TASK_TYPE_DOCUMENTATION', prompt: 'document the retry policy', maxTokens: 120 }, meta, { deadline: deadline() });
  const kinds = [];
  let text = '';
  let final = null;
  for await (const message of call) {
    kinds.push(message.event);
    if (message.event === 'delta') {
      text += message.delta.text;
    } else if (message.event === 'final') {
      final = message.final;
    }
  }
  assert.equal(kinds[0], 'started');
  assert.equal(kinds.at(-1), 'final');
  assert.ok(kinds.filter((k) => k === 'delta').length >= 2, `kinds: ${kinds.join(',')}`);
  assert.ok(text.length > 20);
  assert.ok(final.usage.outputTokens > 0);
  assert.equal(final.status, 'EXECUTION_STATUS_COMPLETED');
});

test('an invalid request is INVALID_ARGUMENT with google.rpc.Status details', async () => {
  const error = await new Promise((resolve) =>
    router.Execute({ taskType: 'TASK_TYPE_CHAT', prompt: '' }, meta, { deadline: deadline() }, (e) => resolve(e)));
  assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
  const details = error.metadata.get('grpc-status-details-bin');
  assert.equal(details.length, 1, 'google.rpc.Status travels in grpc-status-details-bin');
  assert.ok(details[0].toString('latin1').includes('INVALID_ARGUMENT'));
});

test('ListModels lists the catalog', async () => {
  const response = await new Promise((resolve, reject) =>
    models.ListModels({}, meta, { deadline: deadline() }, (error, value) => (error ? reject(error) : resolve(value))));
  const ids = response.models.map((m) => m.id);
  assert.ok(ids.includes('sim-fast') && ids.includes('sim-pro'), ids.join(','));
});
