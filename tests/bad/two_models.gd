model y = m*x + b
model z = m*x
loss mean((y - Y)^2)
