"""Certificates from an ACME CA (tls.mode `acme`): Let's Encrypt or a private CA, through certbot.

How the pieces fit (docs/certificates.md tells the administrator's side):

- `names` decides which names the certificate must cover: the hostname, then autoconfig.,
  autodiscover. and mta-sts. of every hosted domain, whether it comes from the config file or from
  `facteur domain add` (the database);
- `lineage` reads what certbot holds now (its own config dir, apart from /etc/letsencrypt);
- `certbot` builds certbot's command lines and runs them;
- `issue` decides whether certbot must run (`facteur certificate issue`, at install and after a
  domain change) and runs the scheduled renewal (`facteur certificate renew`);
- `record` keeps the outcome of the last certbot run for `facteur status` and the monitoring.

certbot's deploy hook (rendered by the acme role) copies a new certificate and key to
/etc/facteur/tls/, where every TLS service reads them, and reloads those services.
"""
