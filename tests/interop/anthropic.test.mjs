// The official `@anthropic-ai/sdk` npm client against the REST host's Anthropic Messages surface.
// Run by scripts/interop.sh, which starts the hosts and sets MONKEY_GATEWAY_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

const gateway = process.env.MONKEY_GATEWAY_URL;
if (!gateway) {
  throw new Error('MONKEY_GATEWAY_URL is not set: run through scripts/interop.sh');
}

// Only the base URL and the key change, as Claude Code's ANTHROPIC_BASE_URL does; the SDK sends x-api-key.
const client = new Anthropic({ baseURL: `${gateway}/anthropic`, apiKey: process.env.MONKEY_API_KEY ?? 'no-auth-configured', maxRetries: 0 });

test('messages.create (non-streaming) answers in Anthropic\'s message shape with the requested model', async () => {
  const message = await client.messages.create({
    model: 'sim-pro',
    max_tokens: 48,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'explain exponential backoff' }],
  });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.equal(message.model, 'sim-pro');
  assert.match(message.id, /^msg_/);
  assert.equal(message.content[0].type, 'text');
  assert.ok(message.content[0].text.length > 0);
  assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason));
  assert.ok(message.usage.input_tokens > 0);
  assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 48);
});

test('messages.stream accumulates text deltas into the final message', async () => {
  const stream = client.messages.stream({
    model: 'sim-fast',
    max_tokens: 80,
    messages: [{ role: 'user', content: 'document the retry policy' }],
  });
  let deltas = '';
  stream.on('text', (text) => { deltas += text; });
  const message = await stream.finalMessage();
  assert.ok(deltas.length > 20, deltas);
  assert.equal(message.content.length, 1);
  assert.equal(message.content[0].type, 'text');
  assert.equal(message.content[0].text, deltas);
  assert.equal(message.model, 'sim-fast');
  assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason));
  assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 80);
});

test('messages.create with stream: true yields Anthropic\'s event sequence', async () => {
  const stream = await client.messages.create({
    model: 'sim-fast',
    max_tokens: 40,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const types = [];
  for await (const event of stream) {
    types.push(event.type);
  }
  assert.equal(types[0], 'message_start');
  assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  assert.ok(types.includes('content_block_start') && types.includes('content_block_delta'));
});

test('messages.countTokens answers an estimate', async () => {
  const count = await client.messages.countTokens({
    model: 'sim-fast',
    system: 'You review code.',
    messages: [{ role: 'user', content: 'What does this function do?' }],
  });
  assert.ok(count.input_tokens > 5, JSON.stringify(count));
});

test('errors arrive as the SDK\'s typed errors', async () => {
  const badKey = new Anthropic({ baseURL: `${gateway}/anthropic`, apiKey: 'mk_nope0000_0123456789abcdefghijklmnopqrstuvwxyzABCD', maxRetries: 0 });
  await assert.rejects(
    badKey.messages.create({ model: 'sim-fast', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (error) => error instanceof Anthropic.AuthenticationError && error.status === 401 && error.error?.error?.type === 'authentication_error');
  await assert.rejects(
    client.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (error) => error instanceof Anthropic.NotFoundError && error.error?.error?.type === 'not_found_error');
  await assert.rejects(
    client.messages.create({ model: 'sim-fast', max_tokens: 5, top_k: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (error) => error instanceof Anthropic.BadRequestError && /top_k/.test(error.message));
});

test('models.list names the router and the catalog models', async () => {
  const ids = [];
  for await (const model of client.models.list()) {
    ids.push(model.id);
  }
  assert.ok(ids.includes('auto'), ids.join(','));
  assert.ok(ids.length > 1, ids.join(','));
});

// Tools through the Anthropic edge, answered by an OpenAI-protocol model (the interop fake upstream):
// tool_use / tool_result blocks translated both ways.
const toolModel = 'gpt-6-luna';
const weatherTool = {
  name: 'get_weather', description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
};

test('tools: a two-step conversation (tool_use, tool_result, answer)', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.messages.create({ model: toolModel, max_tokens: 256, tools: [weatherTool], messages });
  assert.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((block) => block.type === 'tool_use');
  assert.ok(use, JSON.stringify(first.content));
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { city: 'Paris', unit: 'celsius' });

  messages.push({ role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees and sunny' }] });
  const second = await client.messages.create({ model: toolModel, max_tokens: 256, tools: [weatherTool], messages });
  assert.equal(second.stop_reason, 'end_turn');
  assert.equal(second.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), 'The tool said: 18 degrees and sunny');
});

test('tools, streamed: input_json_delta pieces accumulate into the tool_use input', async () => {
  const stream = client.messages.stream({
    model: toolModel, max_tokens: 256, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  let pieces = 0;
  stream.on('inputJson', () => { pieces++; });
  const final = await stream.finalMessage();
  assert.ok(pieces >= 1, `only ${pieces} input_json_delta pieces`);
  assert.equal(final.stop_reason, 'tool_use');
  const use = final.content.find((block) => block.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { city: 'Paris', unit: 'celsius' });
});
