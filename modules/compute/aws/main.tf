# apex and nadir runners are EC2 instances (stopped while running = false, or
# unset for a runner made as nadir: aws_ec2_instance_state keeps the instance,
# its disk and id, and starts it again); serverless runners
# are an ECS Fargate service of one task. Only the resources of the runner's
# type are created (count), but `tofu init` needs the AWS plugin either way.

resource "aws_instance" "runner" {
  count = local.is_serverless ? 0 : 1

  ami                         = var.image
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[0]
  vpc_security_group_ids      = var.security_group_ids
  associate_public_ip_address = var.assign_public_ip
  user_data                   = local.user_data
  user_data_replace_on_change = true

  root_block_device {
    volume_size = var.disk_gb
    volume_type = "gp3"
    encrypted   = true
  }

  metadata_options {
    http_tokens = "required"
  }

  tags        = merge(local.labels, { Name = var.name })
  volume_tags = local.labels
}

resource "aws_ec2_instance_state" "runner" {
  count = local.is_serverless ? 0 : 1

  instance_id = aws_instance.runner[0].id
  state       = local.running ? "running" : "stopped"
}

resource "aws_ecs_task_definition" "runner" {
  count = local.is_serverless ? 1 : 0

  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu * 1024)
  memory                   = tostring(var.memory_mb)
  container_definitions = jsonencode([{
    name        = "gosling-runner"
    image       = var.image
    essential   = true
    command     = ["gosling", "runner"]
    environment = [for k in sort(keys(local.agent_env)) : { name = k, value = local.agent_env[k] }]
  }])
  tags = local.labels
}

resource "aws_ecs_service" "runner" {
  count = local.is_serverless ? 1 : 0

  name            = var.name
  cluster         = var.ecs_cluster_arn
  task_definition = aws_ecs_task_definition.runner[0].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  tags = local.labels
}
