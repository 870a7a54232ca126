# A change under review: min_ports_per_vm lowered from 128 to 64.
variable "min_ports_per_vm" {
  type    = number
  default = 64
}

locals {
  time_wait_sec = 30
}

resource "google_compute_address" "nat" {
  name   = "egress-nat"
  region = "europe-west1"
}

resource "google_compute_router_nat" "nat" {
  name                               = "egress"
  router                             = google_compute_router.router.name
  region                             = "europe-west1"
  nat_ip_allocate_option             = "MANUAL_ONLY"
  nat_ips                            = [google_compute_address.nat.self_link]
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
  min_ports_per_vm                   = var.min_ports_per_vm
  tcp_time_wait_timeout_sec          = local.time_wait_sec

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
