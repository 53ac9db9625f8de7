namespace MonkeyCoder.Core.Auth;

internal sealed record AuditRecord(long Id, DateTimeOffset OccurredAt, string Kind, string? PrincipalId, string Subject, string Detail);
