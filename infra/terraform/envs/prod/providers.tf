# Credentials come from the environment only, never from files in this repository:
#   HOSTINGER_API_TOKEN   (hPanel -> API)
#   CLOUDFLARE_API_TOKEN  (Zone DNS edit + Load Balancing: Monitors and Pools edit + Load Balancers edit)
provider "hostinger" {}

provider "cloudflare" {}
