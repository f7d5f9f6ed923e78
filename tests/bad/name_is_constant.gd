param pi = 3
model y = pi*x
loss mean((y - Y)^2)
