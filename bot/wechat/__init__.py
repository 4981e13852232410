"""WeChat official account: the webhook server, the API client, rendering for WeChat's rules, the sender."""
