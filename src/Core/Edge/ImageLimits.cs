using System.Buffers.Text;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Core.Edge;

/// <summary>
/// What every edge accepts as an image part, and how it reads one: an http(s) URL, or a
/// <c>data:&lt;media type&gt;;base64,&lt;data&gt;</c> URL (or base64 with its media type). Inline images
/// are bounded by <see cref="MaxImageBytes"/> decoded each and a request by <see cref="MaxImages"/>
/// (the providers' own limits are of this order: OpenAI 20 MB per image, Anthropic 5 MB and 100
/// images); the request body limit (<c>MAX_REQUEST_BODY_BYTES</c>) applies first.
/// </summary>
internal static class ImageLimits
{
    /// <summary>Most decoded bytes of one inline image: 20 MB.</summary>
    public const long MaxImageBytes = 20L * 1024 * 1024;

    /// <summary>Most images in one request, all turns together.</summary>
    public const int MaxImages = 20;

    /// <summary>Longest image URL accepted.</summary>
    public const int MaxUrlChars = 8192;

    private static readonly string[] MediaTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    /// <summary>An image from a URL as callers send it (OpenAI's <c>image_url.url</c>), or why it is refused.</summary>
    public static (ImagePart? Image, string? Error) FromUrl(string? url, string? detail)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return (null, "Required: an http(s) URL or a data: URL.");
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma < 0 ? "" : url[5..comma];
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                return (null, "A data: URL must be data:<media type>;base64,<data>.");
            }

            return FromBase64(header[..^";base64".Length], url[(comma + 1)..], detail);
        }

        if (url.Length > MaxUrlChars)
        {
            return (null, $"At most {MaxUrlChars} characters.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return (null, "Must be an http(s) URL or a data: URL.");
        }

        return (new ImagePart { Url = url, Detail = detail }, null);
    }

    /// <summary>Inline base64 data with its media type, or why it is refused (type, encoding, size).</summary>
    public static (ImagePart? Image, string? Error) FromBase64(string? mediaType, string? data, string? detail = null)
    {
        var type = mediaType?.Trim().ToLowerInvariant() ?? "";
        if (Array.IndexOf(MediaTypes, type) < 0)
        {
            return (null, $"The media type must be one of {string.Join(", ", MediaTypes)}; got '{mediaType}'.");
        }

        if (string.IsNullOrEmpty(data))
        {
            return (null, "The image data is empty.");
        }

        var decoded = data.Length / 4L * 3;
        if (decoded > MaxImageBytes)
        {
            return (null, $"An image may be at most {MaxImageBytes / (1024 * 1024)} MB decoded; this one is about {decoded / (1024 * 1024)} MB.");
        }

        if (!Base64.IsValid(data))
        {
            return (null, "The image data is not valid base64.");
        }

        return (new ImagePart { MediaType = type, Base64Data = data, Detail = detail }, null);
    }
}
