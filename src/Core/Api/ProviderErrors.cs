using Grpc.Core;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Api;

/// <summary>Maps a classified provider failure (after failover gave up) to the caller's status.</summary>
internal static class ProviderErrors
{
    /// <summary>RetryInfo for upstream trouble the provider gave no hint for. Defaults to 1 s.</summary>
    private static readonly TimeSpan DefaultRetry = TimeSpan.FromSeconds(1);

    public static RpcException ToRpcException(ProviderException ex, string? model = null)
    {
        var metadata = new Dictionary<string, string>
        {
            ["provider"] = ex.Provider,
            ["error_class"] = ex.ClassName,
        };
        if (model is not null)
        {
            metadata["model"] = model;
        }

        if (ex.ProviderCode is { Length: > 0 } code)
        {
            metadata["provider_code"] = code;
        }

        if (ex.HttpStatus is { } http)
        {
            metadata["http_status"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var message = $"{ex.Provider}: {ex.Message}";
        return ex.ErrorClass switch
        {
            ProviderErrorClass.RateLimited => RpcErrors.Unavailable("PROVIDER_RATE_LIMITED", message, ex.RetryAfter ?? DefaultRetry, metadata),
            ProviderErrorClass.ContextLengthExceeded => RpcErrors.Create(StatusCode.InvalidArgument, "CONTEXT_LENGTH_EXCEEDED", message, metadata,
                badRequest: new Google.Rpc.BadRequest { FieldViolations = { new Google.Rpc.BadRequest.Types.FieldViolation { Field = "prompt", Description = "The prompt, files and max_tokens exceed every candidate model's context window." } } }),
            ProviderErrorClass.ContentFiltered => RpcErrors.Create(StatusCode.FailedPrecondition, "CONTENT_FILTERED", message, metadata),
            ProviderErrorClass.InvalidRequest or ProviderErrorClass.PrefillRejected => RpcErrors.Create(StatusCode.InvalidArgument, "PROVIDER_REJECTED_REQUEST", message, metadata),
            ProviderErrorClass.Authentication => RpcErrors.Create(StatusCode.Unavailable, "PROVIDER_AUTHENTICATION_FAILED", message, metadata),
            ProviderErrorClass.StreamCut or ProviderErrorClass.Stalled or ProviderErrorClass.MalformedStream =>
                RpcErrors.Unavailable("PROVIDER_STREAM_INTERRUPTED", message, DefaultRetry, metadata),
            ProviderErrorClass.Timeout => RpcErrors.Unavailable("PROVIDER_TIMEOUT", message, DefaultRetry, metadata),
            _ => RpcErrors.Unavailable("PROVIDER_UNAVAILABLE", message, ex.RetryAfter ?? DefaultRetry, metadata),
        };
    }
}
