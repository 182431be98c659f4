output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone."
  value       = [for s in aws_subnet.private : s.id]
}

output "private_route_table_id" {
  description = "Route table of the private subnets."
  value       = aws_route_table.private.id
}

output "nat_gateway_enabled" {
  description = "Whether a (billed) NAT gateway exists."
  value       = var.enable_nat_gateway
}
