"""Gateway mode: kernels and kernelspecs on a Jupyter Kernel Gateway or Enterprise Gateway.

With ``GatewayClient.url`` set (``--gateway-url``, ``JUPYTER_GATEWAY_URL``)
the server's kernel and kernelspec managers are the ones of this package:

* :mod:`.client` -- :class:`~.client.GatewayClient`, the settings (the trait
  names and environment variables of jupyter_server's, so a deployment
  carries over) and the HTTP requests to the gateway, whose failures become
  JSON errors naming the gateway and what went wrong;
* :mod:`.managers` -- :class:`~.managers.GatewayKernelSpecManager` and
  :class:`~.managers.GatewayMappingKernelManager`, which forward to the
  gateway's REST API and keep the server's kernel list in step with it;
* :mod:`.kernel` -- one gateway kernel as the websocket side sees it;
* :mod:`.connection` -- the one websocket to the gateway per kernel in use,
  which reconnects with backoff.

Sessions stay local.  Nothing here is imported unless gateway mode is on
(the server reads the URL from its configuration without importing this
package); see ``docs/gateway.md``.
"""
