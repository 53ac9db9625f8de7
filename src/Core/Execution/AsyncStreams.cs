using System.Runtime.CompilerServices;

namespace MonkeyCoder.Core.Execution;

/// <summary>Helpers for the execution layer's async streams.</summary>
internal static class AsyncStreams
{
    /// <summary>
    /// Yields <paramref name="source"/>'s items unchanged; when producing the next one throws,
    /// <paramref name="onFailure"/> sees the exception first and it is then rethrown as is. (C# allows
    /// no <c>yield</c> inside a try with a catch, so the loop is written out once here.)
    /// </summary>
    public static async IAsyncEnumerable<T> OnFailure<T>(this IAsyncEnumerable<T> source, Action<Exception> onFailure, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var items = source.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            T item;
            try
            {
                if (!await items.MoveNextAsync())
                {
                    yield break;
                }

                item = items.Current;
            }
            catch (Exception ex)
            {
                onFailure(ex);
                throw;
            }

            yield return item;
        }
    }
}
