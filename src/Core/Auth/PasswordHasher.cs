using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MonkeyCoder.Core.Auth;

/// <summary>
/// PBKDF2-HMAC-SHA256 with a 16-byte random salt, stored as
/// <c>pbkdf2-sha256$iterations$salt$hash</c> (base64). Verification is constant-time and reads the
/// iteration count from the stored hash, so raising it later only affects new hashes.
/// The async forms run under a concurrency gate (<see cref="AuthOptions.PasswordHashConcurrency"/>):
/// a flood of sign-ins queues for a slot and is refused with RESOURCE_EXHAUSTED after
/// <see cref="AuthOptions.PasswordHashQueueSeconds"/>, so it cannot take every core.
/// </summary>
internal sealed class PasswordHasher(int iterations, int concurrency = 0, TimeSpan? queueTimeout = null)
{
    /// <summary>ErrorInfo reason when no hashing slot freed up in time.</summary>
    public const string Busy = "SIGN_IN_BUSY";

    private readonly SemaphoreSlim _gate = new(Slots(concurrency), Slots(concurrency));
    private readonly TimeSpan _queueTimeout = queueTimeout ?? TimeSpan.FromSeconds(5);
    private int _running;
    private int _peak;

    /// <summary>Hashes computed at once at most.</summary>
    public int Concurrency { get; } = Slots(concurrency);

    /// <summary>The most hashes that ran at once so far (for tests and diagnostics).</summary>
    internal int PeakConcurrency => Volatile.Read(ref _peak);

    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public int Iterations { get; } = iterations;

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) => GatedAsync(() => Hash(password), cancellationToken);

    public Task<bool> VerifyAsync(string password, string? stored, CancellationToken cancellationToken) => GatedAsync(() => Verify(password, stored), cancellationToken);

    private static int Slots(int configured) => configured > 0 ? configured : Math.Max(1, Environment.ProcessorCount / 2);

    private async Task<T> GatedAsync<T>(Func<T> derive, CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(_queueTimeout, cancellationToken))
        {
            throw Api.RpcErrors.ResourceExhausted(Busy, "Too many sign-ins are being checked right now; retry shortly.", TimeSpan.FromSeconds(1));
        }

        try
        {
            var running = Interlocked.Increment(ref _running);
            for (var peak = Volatile.Read(ref _peak); running > peak && Interlocked.CompareExchange(ref _peak, running, peak) != peak; peak = Volatile.Read(ref _peak))
            {
            }

            // Off the request thread: the derivation is ~0.3 s of CPU.
            return await Task.Run(derive, CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _gate.Release();
        }
    }

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>True when <paramref name="password"/> matches. A null or malformed hash still costs one full derivation, so timing does not tell whether an account exists.</summary>
    public bool Verify(string password, string? stored)
    {
        var parts = stored?.Split('$');
        if (parts is not { Length: 4 } || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            _ = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), new byte[SaltBytes], Iterations, HashAlgorithmName.SHA256, HashBytes);
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
