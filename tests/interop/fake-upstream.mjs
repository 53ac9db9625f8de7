// A fake OpenAI upstream for the interop tests (scripts/interop.sh starts it and points the REST
// host's OpenAI provider at it: OPENAI_API_KEY=anything, OPENAI_BASE_URL=http://127.0.0.1:PORT/v1).
// Speaks the Chat Completions wire format: offered tools and the last message not a tool result, it
// calls the first tool; otherwise it answers in text (JSON with response_format json_object, a note
// when the prompt had an image). Streams when asked (tool calls as index/id/name/argument pieces).
// Usage: node tests/interop/fake-upstream.mjs PORT   (prints "listening PORT" when ready)
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);

function answer(body) {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  const tools = body.tools ?? [];
  if (tools.length > 0 && last?.role !== 'tool' && body.tool_choice !== 'none') {
    const name = body.tool_choice?.function?.name ?? tools[0].function.name;
    return { toolCalls: [{ id: `call_fake_${Date.now().toString(36)}`, name, arguments: JSON.stringify({ city: 'Paris', unit: 'celsius' }) }] };
  }
  if (last?.role === 'tool') return { text: `The tool said: ${last.content}` };
  if (body.response_format?.type === 'json_object' || body.response_format?.type === 'json_schema') return { text: '{"answer":"ok","source":"fake-upstream"}' };
  const parts = Array.isArray(last?.content) ? last.content : [];
  const images = parts.filter((p) => p.type === 'image_url').length;
  if (images > 0) return { text: `I see ${images} image(s).` };
  return { text: 'Hello from the fake upstream.' };
}

function usage() {
  return { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28, prompt_tokens_details: { cached_tokens: 0 } };
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-6-luna', object: 'model', created: 1730000000, owned_by: 'openai' }] }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: null } }));
    return;
  }
  let raw = '';
  req.on('data', (d) => { raw += d; });
  req.on('end', () => {
    const body = JSON.parse(raw);
    const { text, toolCalls } = answer(body);
    const id = `chatcmpl-fake${Date.now()}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = toolCalls ? 'tool_calls' : 'stop';
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id, object: 'chat.completion', created, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text ?? null, refusal: null,
          ...(toolCalls ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}) },
          logprobs: null, finish_reason: finish }],
        usage: usage(),
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta, finishReason = null) => res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })}\n\n`);
    chunk({ role: 'assistant', content: '' });
    if (text) for (const word of text.match(/\S+\s*/g)) chunk({ content: word });
    (toolCalls ?? []).forEach((c, index) => {
      chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] });
      for (let i = 0; i < c.arguments.length; i += 8) chunk({ tool_calls: [{ index, function: { arguments: c.arguments.slice(i, i + 8) } }] });
    });
    chunk({}, finish);
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: usage() })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
