using System.Globalization;
using System.Text.Json;
using Google.Rpc;
using MonkeyCoder.Core.Api;

namespace MonkeyCoder.Core.Edge.OpenAi;

/// <summary>Validates an embeddings request: a model, and a string or a list of non-empty strings (at most <see cref="MaxInputs"/>).</summary>
internal static class EmbeddingsRequestMapper
{
    public const int MaxInputs = 2048;

    public static EmbeddingsCall Map(EmbeddingsRequest request)
    {
        var violations = new List<BadRequest.Types.FieldViolation>();
        void Violation(string field, string description) =>
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

        var model = request.Model?.Trim() ?? "";
        if (model.Length == 0)
        {
            Violation("model", "Required: an embedding model id (e.g. text-embedding-3-small).");
        }

        var inputs = new List<string>();
        switch (request.Input)
        {
            case { ValueKind: JsonValueKind.String } text:
                inputs.Add(text.GetString() ?? "");
                break;
            case { ValueKind: JsonValueKind.Array } list:
                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        var value = item.GetString() ?? "";
                        if (value.Length == 0)
                        {
                            // Named by its place in the caller's array, not among the strings kept.
                            Violation(string.Create(CultureInfo.InvariantCulture, $"input[{index}]"), "Must not be empty.");
                        }

                        inputs.Add(value);
                    }
                    else
                    {
                        Violation(string.Create(CultureInfo.InvariantCulture, $"input[{index}]"), "Must be a string (token arrays are not supported).");
                    }

                    index++;
                }

                break;
            default:
                Violation("input", "Required: a string or an array of strings.");
                break;
        }

        if (request.Input is { ValueKind: JsonValueKind.String or JsonValueKind.Array } && inputs.Count == 0 && violations.Count == 0)
        {
            Violation("input", "At least one string.");
        }

        if (inputs.Count > MaxInputs)
        {
            Violation("input", string.Create(CultureInfo.InvariantCulture, $"At most {MaxInputs} strings; got {inputs.Count}."));
        }

        if (request.Input is { ValueKind: JsonValueKind.String } && inputs[0].Length == 0)
        {
            Violation("input", "Must not be empty.");
        }

        if (request.EncodingFormat is not (null or "float"))
        {
            Violation("encoding_format", $"Only \"float\" is supported; got '{request.EncodingFormat}'.");
        }

        if (request.Dimensions is { } d && d < 1)
        {
            Violation("dimensions", "Must be at least 1.");
        }

        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }

        return new EmbeddingsCall(model, inputs, request.Dimensions);
    }
}
