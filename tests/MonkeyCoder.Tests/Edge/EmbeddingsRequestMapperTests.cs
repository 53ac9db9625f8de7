using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using MonkeyCoder.Core.Edge.OpenAi;

namespace MonkeyCoder.Tests.Edge;

public sealed class EmbeddingsRequestMapperTests
{
    private static EmbeddingsRequest Parse(string json) =>
        JsonSerializer.Deserialize(json, EmbeddingsJsonContext.Default.EmbeddingsRequest)!;

    [Fact]
    public void Map_StringOrArray_InputsInOrder()
    {
        Assert.Equal(["one"], EmbeddingsRequestMapper.Map(Parse("""{"model":"text-embedding-3-small","input":"one"}""")).Inputs);
        var call = EmbeddingsRequestMapper.Map(Parse("""{"model":"text-embedding-3-small","input":["a","b"],"dimensions":256,"encoding_format":"float"}"""));
        Assert.Equal(["a", "b"], call.Inputs);
        Assert.Equal(256, call.Dimensions);
        Assert.Equal("text-embedding-3-small", call.Model);
    }

    [Fact]
    public void Map_TokenArraysBase64EmptyAndMissing_Refused()
    {
        var ex = Assert.Throws<RpcException>(() => EmbeddingsRequestMapper.Map(Parse("""{"model":"","input":["ok",[1,2],""],"encoding_format":"base64","dimensions":0}""")));
        var fields = ex.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();
        foreach (var field in new[] { "model", "input[1]", "input[2]", "encoding_format", "dimensions" })
        {
            Assert.Contains(field, fields);
        }

        var missing = Assert.Throws<RpcException>(() => EmbeddingsRequestMapper.Map(Parse("""{"model":"m"}""")));
        Assert.Equal(StatusCode.InvalidArgument, missing.StatusCode);
    }
}
