using Grpc.Core;
using MonkeyCoder.Core.Observability;
using MonkeyCoder.Core.Providers;
using MonkeyCoder.V1;

namespace MonkeyCoder.Core.Api;

/// <summary>ModelService: enabled providers with their health, and the catalog of their models.</summary>
internal sealed class ModelApi(ModelCatalog catalog, ProviderRegistry providers, ProviderHealthMonitor health) : ModelService.ModelServiceBase
{
    public override Task<ListProvidersResponse> ListProviders(ListProvidersRequest request, ServerCallContext context)
    {
        var response = new ListProvidersResponse();
        foreach (var provider in catalog.Providers)
        {
            var enabled = providers.IsEnabled(provider.Name);
            if (!enabled && !request.IncludeDisabled)
            {
                continue;
            }

            var state = enabled ? health.Get(provider.Name) : new ProviderHealth(HealthState.Unspecified, "disabled: no API key or base URL configured");
            response.Providers.Add(new Provider
            {
                Name = provider.Name,
                DisplayName = provider.DisplayName,
                Protocol = provider.Protocol,
                Enabled = enabled,
                Health = state.State,
                HealthDetail = state.Detail,
                ModelCount = catalog.Models.Count(m => string.Equals(m.Provider, provider.Name, StringComparison.OrdinalIgnoreCase) && !m.IsDeprecated),
                BaseUrl = providers.BaseUrlOf(provider.Name) ?? MonkeyCoder.Core.Providers.Http.ProviderClientSettings.Redact(provider.BaseUrl),
            });
        }

        return Task.FromResult(response);
    }

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        if (request.Provider.Length > 0 && catalog.FindProvider(request.Provider) is null)
        {
            throw RpcErrors.InvalidArgument("provider", $"Unknown provider '{request.Provider}'.");
        }

        var response = new ListModelsResponse();
        foreach (var model in catalog.Models)
        {
            if (!providers.IsEnabled(model.Provider)
                || (request.Provider.Length > 0 && !string.Equals(model.Provider, request.Provider, StringComparison.OrdinalIgnoreCase))
                || (model.IsDeprecated && !request.IncludeDeprecated))
            {
                continue;
            }

            response.Models.Add(ProtoMapper.ToProto(model));
        }

        return Task.FromResult(response);
    }
}
