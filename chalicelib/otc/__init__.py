"""OTC orders: escrowed trades of the community token against the native coin or other assets."""
