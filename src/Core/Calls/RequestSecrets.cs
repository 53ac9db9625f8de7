using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Calls;

/// <summary>
/// The request's secrets and free text, for the scrubbers: prompts, file contents, custom
/// instructions, comments, passwords, emails and names, refresh tokens, device and user codes.
/// Ids, enums and numbers are not listed. Add a field here when a proto gains one of these.
/// </summary>
internal static class RequestSecrets
{
    public static IReadOnlyList<string> Of(object? request)
    {
        switch (request)
        {
            case ExecuteRequest execute:
                var values = new List<string>(2 + execute.Files.Count) { execute.Prompt, execute.CustomInstructions };
                foreach (var file in execute.Files)
                {
                    values.Add(file.Content);
                }

                return values;
            case FeedbackRequest feedback:
                return [feedback.Comment];
            case LoginRequest login:
                return [login.Password, login.Email];
            case SignUpRequest signUp:
                return [signUp.Password, signUp.Email, signUp.DisplayName];
            case RefreshRequest refresh:
                return [refresh.RefreshToken];
            case LogoutRequest logout:
                return [logout.RefreshToken];
            case StartDeviceAuthorizationRequest start:
                return [start.ClientName];
            case PollDeviceAuthorizationRequest poll:
                return [poll.DeviceCode];
            case ApproveDeviceAuthorizationRequest approve:
                return [approve.UserCode];
            case CreateApiKeyRequest createKey:
                return [createKey.Name];
            default:
                return [];
        }
    }
}
