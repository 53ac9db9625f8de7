using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MonkeyCoder.Core.Sessions;
using MonkeyCoder.Core.Usage;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>SessionService: a caller's own conversations.</summary>
internal sealed class SessionApi(ISessionStore store, ICallerAccessor callers) : SessionService.SessionServiceBase
{
    public override async Task<ListSessionsResponse> ListSessions(ListSessionsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > 200)
        {
            throw RpcErrors.InvalidArgument("page_size", "Must be between 1 and 200.");
        }

        var sessions = await store.ListAsync(callers.Get(context).PrincipalId, request.PageSize == 0 ? 50 : request.PageSize, context.CancellationToken);
        var response = new ListSessionsResponse();
        response.Sessions.AddRange(sessions.Select(Summary));
        return response;
    }

    public override async Task<GetSessionResponse> GetSession(GetSessionRequest request, ServerCallContext context)
    {
        var (info, turns) = await LoadAsync(request.SessionId, context);
        var response = new GetSessionResponse { Summary = Summary(info) };
        response.Turns.AddRange(turns.Select(t => new SessionTurn
        {
            Role = t.Role == "assistant" ? TurnRole.Assistant : TurnRole.User,
            Content = t.Content,
            CreateTime = Timestamp.FromDateTimeOffset(t.At),
            Model = t.Model,
        }));
        return response;
    }

    public override async Task<ExportSessionResponse> ExportSession(ExportSessionRequest request, ServerCallContext context)
    {
        var (info, turns) = await LoadAsync(request.SessionId, context);
        if (request.Format == ExportFormat.Json)
        {
            return new ExportSessionResponse
            {
                Content = JsonSerializer.Serialize(turns.ToList(), SessionJsonContext.Default.ListStoredTurn),
                ContentType = "application/json",
            };
        }

        var markdown = new StringBuilder();
        markdown.Append("# Session ").Append(info.SessionId).Append("\n\n");
        foreach (var turn in turns)
        {
            markdown.Append("## ").Append(turn.Role == "assistant" ? $"Assistant ({turn.Model})" : "User").Append("\n\n")
                .Append(turn.Content).Append("\n\n");
        }

        return new ExportSessionResponse { Content = markdown.ToString(), ContentType = "text/markdown" };
    }

    public override async Task<DeleteSessionResponse> DeleteSession(DeleteSessionRequest request, ServerCallContext context)
    {
        RequireId(request.SessionId);
        return new DeleteSessionResponse { Deleted = await store.DeleteAsync(callers.Get(context).PrincipalId, request.SessionId, context.CancellationToken) };
    }

    private async Task<(SessionInfo Info, IReadOnlyList<StoredTurn> Turns)> LoadAsync(string sessionId, ServerCallContext context)
    {
        RequireId(sessionId);
        var turns = await store.GetTurnsAsync(callers.Get(context).PrincipalId, sessionId, context.CancellationToken);
        if (turns.Count == 0)
        {
            throw RpcErrors.NotFound("SESSION_NOT_FOUND", $"No session '{sessionId}' (it may have expired).");
        }

        var first = turns.FirstOrDefault(t => t.Role == "user") ?? turns[0];
        return (new SessionInfo(sessionId, turns.Count, turns[^1].At, RedisSessionStore.Title(first)), turns);
    }

    private static void RequireId(string sessionId)
    {
        if (string.IsNullOrWhiteSpace(sessionId) || sessionId.Length > TaskRequestValidator.MaxIdLength)
        {
            throw RpcErrors.InvalidArgument("session_id", "Required, at most 128 characters.");
        }
    }

    private static SessionSummary Summary(SessionInfo s) => new()
    {
        SessionId = s.SessionId,
        TurnCount = s.TurnCount,
        UpdateTime = Timestamp.FromDateTimeOffset(s.UpdatedAt),
        Title = s.Title,
    };
}
