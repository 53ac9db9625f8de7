// A fake OpenAI upstream for the coding-agent test (scripts/agent-test.sh), speaking the Chat
// Completions wire format the gateway's OpenAI provider sends. A scripted model: asked with tools
// and no tool result yet, it calls the agent's shell tool to write agent-proof.txt; once the tool's
// output comes back, it answers in text. Streams when asked (SSE chunks with tool-call deltas).
// Every request body is appended to $FAKE_UPSTREAM_LOG (one JSON line) for the test's diagnostics.
import http from 'node:http';
import fs from 'node:fs';

const port = Number(process.argv[2] ?? 0);
const log = process.env.FAKE_UPSTREAM_LOG;
const proof = 'echo ok > agent-proof.txt';

/** The tool call that writes the proof file, in the argument shape of whichever shell tool the agent offered. */
function shellCall(tools) {
  const names = (tools ?? []).map((t) => t.function?.name);
  if (names.includes('exec_command')) return { name: 'exec_command', arguments: JSON.stringify({ cmd: proof }) };
  if (names.includes('shell')) return { name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', proof] }) };
  // Claude Code and the Continue CLI call it Bash, opencode bash: { command, description }.
  if (names.includes('Bash')) return { name: 'Bash', arguments: JSON.stringify({ command: proof, description: 'Write the proof file' }) };
  if (names.includes('bash')) return { name: 'bash', arguments: JSON.stringify({ command: proof, description: 'Write the proof file' }) };
  return null;
}

function answer(body) {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  if (last?.role !== 'tool') {
    const call = shellCall(body.tools);
    if (call) return { toolCall: { id: 'call_proof_1', ...call } };
  }
  return { text: 'The file agent-proof.txt now contains "ok".' };
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    if (log) fs.appendFileSync(log, JSON.stringify({ url: req.url, body: raw ? JSON.parse(raw) : null }) + '\n');
    if (req.method === 'GET' && req.url.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4.1', object: 'model', created: 0, owned_by: 'openai' }] }));
      return;
    }
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
      return;
    }
    const body = JSON.parse(raw);
    const { text, toolCall } = answer(body);
    const id = 'chatcmpl-fake';
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: 1200, completion_tokens: 20, total_tokens: 1220, prompt_tokens_details: { cached_tokens: 0 } };
    const finish = toolCall ? 'tool_calls' : 'stop';
    if (!body.stream) {
      const message = toolCall
        ? { role: 'assistant', content: null, tool_calls: [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }] }
        : { role: 'assistant', content: text };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message, finish_reason: finish }], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta, finish_reason = null, extra = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason }], ...extra })}\n\n`);
    chunk({ role: 'assistant', content: '' });
    if (toolCall) {
      chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: '' } }] });
      const half = Math.floor(toolCall.arguments.length / 2);
      chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.arguments.slice(0, half) } }] });
      chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.arguments.slice(half) } }] });
    } else {
      for (const word of text.split(/(?<= )/)) chunk({ content: word });
    }
    chunk({}, finish);
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
});
server.listen(port, '127.0.0.1', () => console.log(`fake upstream on ${server.address().port}`));
