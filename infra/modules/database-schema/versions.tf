terraform {
  required_version = ">= 1.10"

  required_providers {
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = ">= 1.25, < 2.0"
    }
  }
}
