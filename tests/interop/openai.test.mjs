// The official `openai` npm client against the REST host's OpenAI-compatible surface.
// Run by scripts/interop.sh, which starts the hosts and sets MONKEY_GATEWAY_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const gateway = process.env.MONKEY_GATEWAY_URL;
if (!gateway) {
  throw new Error('MONKEY_GATEWAY_URL is not set: run through scripts/interop.sh');
}

// Only the base URL and the key change, as for any OpenAI-compatible server.
const client = new OpenAI({ baseURL: `${gateway}/openai/v1`, apiKey: process.env.MONKEY_API_KEY ?? 'no-auth-configured', maxRetries: 0 });

test('chat.completions.create (non-streaming) answers with the requested catalog model and usage', async () => {
  const completion = await client.chat.completions.create({
    model: 'sim-pro',
    max_tokens: 48,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'explain exponential backoff' },
    ],
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, 'sim-pro');
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.ok(completion.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
  assert.ok(completion.usage.prompt_tokens > 0);
  assert.ok(completion.usage.completion_tokens > 0 && completion.usage.completion_tokens <= 48);
  assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
});

test('chat.completions.create (stream) yields content and usage in the final chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'sim-fast',
    max_tokens: 80,
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'document the retry policy' }],
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  let model = null;
  for await (const chunk of stream) {
    chunks++;
    model = chunk.model;
    for (const choice of chunk.choices) {
      text += choice.delta?.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
    if (chunk.usage) {
      assert.equal(chunk.choices.length, 0, 'the usage chunk carries no choices');
      usage = chunk.usage;
    }
  }
  assert.ok(chunks >= 3, `only ${chunks} chunks`);
  assert.ok(text.length > 20, `short text: ${text}`);
  assert.ok(['stop', 'length'].includes(finish));
  assert.equal(model, 'sim-fast');
  assert.ok(usage, 'no usage chunk');
  assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= 80);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  console.log(`openai stream: ${chunks} chunks, ${text.length} chars, usage ${JSON.stringify(usage)}`);
});

test('chat.completions.stream helper assembles the final completion', async () => {
  const runner = client.chat.completions.stream({
    model: 'auto',
    max_tokens: 40,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hello' }],
  });
  const final = await runner.finalChatCompletion();
  assert.ok(final.choices[0].message.content.length > 0);
  // auto may route to the simulated models or to the fake OpenAI upstream's models: either way a catalog model.
  assert.equal((await client.models.retrieve(final.model)).id, final.model);
});

test('models.list lists auto and the enabled catalog models', async () => {
  const ids = [];
  for await (const model of client.models.list()) {
    ids.push(model.id);
    assert.equal(model.object, 'model');
  }
  assert.ok(ids.includes('auto'));
  assert.ok(ids.includes('sim-fast'));
  assert.ok(ids.includes('sim-pro'));
  const one = await client.models.retrieve('sim-pro');
  assert.equal(one.id, 'sim-pro');
});

test('an unknown model is a NotFoundError with OpenAI error fields', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-imaginary', messages: [{ role: 'user', content: 'hi' }] }),
    (error) => {
      assert.ok(error instanceof OpenAI.NotFoundError, `got ${error?.constructor?.name}`);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      assert.equal(error.type, 'not_found_error');
      return true;
    });
});

test('an invalid request is a BadRequestError naming the parameter', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], n: 3 }),
    (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError, `got ${error?.constructor?.name}`);
      assert.equal(error.param, 'n');
      return true;
    });
});

// Against the fake OpenAI upstream (tests/interop/fake-upstream.mjs, started by scripts/interop.sh):
// the gateway's OpenAI provider talks to it in OpenAI's wire format.
const toolModel = 'gpt-6-luna';
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } },
};

test('chat with tools: a two-step conversation (call, result, answer)', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model: toolModel, tools: [weatherTool], tool_choice: 'auto', messages });
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  const call = first.choices[0].message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
  assert.match(call.id, /^call_/);

  messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '18 degrees and sunny' });
  const second = await client.chat.completions.create({ model: toolModel, tools: [weatherTool], messages });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.equal(second.choices[0].message.content, 'The tool said: 18 degrees and sunny');
});

test('streaming tool-call deltas assemble into the call (stream helper)', async () => {
  const runner = client.chat.completions.stream({
    model: toolModel, tools: [weatherTool], stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  });
  let pieces = 0;
  runner.on('chunk', (chunk) => { if (chunk.choices[0]?.delta?.tool_calls) pieces++; });
  const final = await runner.finalChatCompletion();
  assert.ok(pieces > 2, `only ${pieces} tool-call pieces`);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
  assert.ok(final.usage.total_tokens > 0);
});

test('an image part (data: URL) reaches a model that accepts images', async () => {
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const completion = await client.chat.completions.create({
    model: toolModel,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}`, detail: 'low' } }] }],
  });
  assert.equal(completion.choices[0].message.content, 'I see 1 image(s).');
});

test('response_format json_object answers JSON', async () => {
  const completion = await client.chat.completions.create({
    model: toolModel, response_format: { type: 'json_object' }, seed: 7, top_p: 0.9, stop: ['END'], user: 'interop',
    messages: [{ role: 'user', content: 'Answer in JSON.' }],
  });
  assert.deepEqual(JSON.parse(completion.choices[0].message.content), { answer: 'ok', source: 'fake-upstream' });
});

test('tools to a model without tool support is a BadRequestError naming the feature', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'sim-fast', tools: [weatherTool], messages: [{ role: 'user', content: 'hi' }] }),
    (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.code, 'model_lacks_feature');
      assert.match(error.message, /tools/);
      return true;
    });
});

// Real 401 and 429: scripts/interop.sh starts the hosts with authentication on and a low request limit
// on the REST host (the edge authenticates and limits through the same feature as gRPC).
test('a bad API key is an AuthenticationError (401)', { skip: !process.env.MONKEY_AUTH_ENABLED && 'needs MONKEY_AUTH_ENABLED (scripts/interop.sh sets it)' }, async () => {
  const bad = new OpenAI({ baseURL: `${gateway}/openai/v1`, apiKey: 'mk-invalid', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (error) => error instanceof OpenAI.AuthenticationError);
});

test('exceeding the request rate is a RateLimitError (429) with Retry-After', { skip: !process.env.MONKEY_LIMITS_ENABLED && 'needs MONKEY_LIMITS_ENABLED (scripts/interop.sh sets it)' }, async () => {
  const calls = Array.from({ length: 50 }, () => client.chat.completions.create({ model: 'sim-fast', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }));
  const results = await Promise.allSettled(calls);
  const limited = results.find((r) => r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError);
  assert.ok(limited, 'no call was rate limited');
  assert.ok(Number(limited.reason.headers.get('retry-after')) >= 1);
});

// The Responses API (what Codex CLI speaks) with a function tool: call, output, answer; then streamed.
const responsesTool = {
  type: 'function', name: 'get_weather', description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
};

test('responses.create with a function tool: function_call, function_call_output, answer', async () => {
  const input = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.responses.create({ model: toolModel, tools: [responsesTool], input });
  assert.equal(first.object, 'response');
  const call = first.output.find((item) => item.type === 'function_call');
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris', unit: 'celsius' });

  const second = await client.responses.create({
    model: toolModel, tools: [responsesTool],
    input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '18 degrees and sunny' }],
  });
  assert.equal(second.output_text, 'The tool said: 18 degrees and sunny');
  assert.ok(second.usage.total_tokens > 0);
});

test('responses.stream: function-call argument deltas and a completed response', async () => {
  const stream = client.responses.stream({ model: toolModel, tools: [responsesTool], input: 'Weather in Paris?' });
  let deltas = 0;
  stream.on('response.function_call_arguments.delta', () => { deltas++; });
  const final = await stream.finalResponse();
  assert.ok(deltas >= 1, `only ${deltas} argument deltas`);
  assert.equal(final.status, 'completed');
  const call = final.output.find((item) => item.type === 'function_call');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris', unit: 'celsius' });
});
