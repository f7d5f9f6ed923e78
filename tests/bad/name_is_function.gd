param exp = 1
model y = exp*x
loss mean((y - Y)^2)
