using System.Text;
using FsCheck.Xunit;
using MonkeyCoder.Core.Providers;

namespace MonkeyCoder.Tests.Providers;

public sealed class TokenCounterTests
{
    [Fact]
    public void UpperBound_BeforeTheVocabularyLoads_IsTheUtf8LengthAndDoesNotWait()
    {
        var tokens = new TokenCounter();
        const string text = "Déjà vu: write a function that parses ISO-8601 dates, 日本語も.";

        Assert.False(tokens.IsLoaded);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), tokens.UpperBound(text));
        Assert.True(tokens.UpperBound(text) >= TestCatalog.Tokens.Count(text));
    }

    [Fact]
    public async Task UpperBound_OnceLoaded_IsTheExactCount()
    {
        var tokens = new TokenCounter();
        await tokens.BeginLoad();

        Assert.True(tokens.IsLoaded);
        Assert.Equal(TestCatalog.Tokens.Count("Say hello in one short sentence."), tokens.UpperBound("Say hello in one short sentence."));
    }

    [Fact]
    public void Count_BeforeBeginLoad_WaitsForTheVocabulary()
    {
        var tokens = new TokenCounter();

        Assert.Equal(TestCatalog.Tokens.Count("hello world"), tokens.Count("hello world"));
        Assert.True(tokens.IsLoaded);
    }

    /// <summary>No BPE token is shorter than one byte, so the UTF-8 length bounds every count, whatever the text.</summary>
    [Property(MaxTest = 300)]
    public bool Utf8Length_NeverBelowTheExactCount(string? text)
    {
        text ??= "";
        return Encoding.UTF8.GetByteCount(text) >= TestCatalog.Tokens.Count(text);
    }
}
